//! vexil-runtime
