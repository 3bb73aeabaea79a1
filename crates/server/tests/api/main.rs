//! The API contract, end to end: a real server over real HTTP against a real
//! PostgreSQL, one test binary.

mod authors;
mod bad_input;
mod books;
mod collation;
mod hello;
mod helpers;
mod openapi;
mod ops;
mod reference;
mod resilience;
