//! vexil-analytics
