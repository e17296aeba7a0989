//! vexil-ir
