"""Facts about the callee that do not come in the call: time zones, region, public holidays and
number lists."""
