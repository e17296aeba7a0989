//! vexil-compiler
