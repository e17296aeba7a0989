//! The canonical formatter (work in progress).
