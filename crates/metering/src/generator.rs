//! Generator (todo).
