"""Pure pandas metrics: frames in, frames out; no Flask, no Dash, no clock (dates are passed in)."""
