//! Driver state-machine tests over the fake device ([`crate::fake`]).

mod bringup;
