//! vexil-grammar
