"""Stages 4 to 6, the run: planning (each row against what the platform holds), applying (the
plan sent one request at a time), undoing a run, and the progress protocol they report through."""
