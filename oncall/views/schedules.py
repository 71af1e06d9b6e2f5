"""Schedule pages: who is on call, calendars, overrides, swaps and feeds."""
