"""Contact understanding: what a caller, texter or chatter wants."""
