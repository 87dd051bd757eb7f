//! faultline: finds the failure-path defects that reviewed, tested code still ships.
