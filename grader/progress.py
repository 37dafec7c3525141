"""A progress bar for a grading run, on stderr.

On a terminal it redraws one line; otherwise (a log file, CI) it writes one
plain line per finished submission.
"""

import sys
import threading


class Progress:
    """Counts finished submissions and shows how far the run is."""

    WIDTH = 30

    def __init__(self, total, stream=None):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._lock = threading.Lock()

    def advance(self, student, outcome):
        """Record one finished submission and redraw."""
        with self._lock:
            self.done += 1
            if self.tty:
                filled = self.WIDTH * self.done // max(self.total, 1)
                bar = "#" * filled + "-" * (self.WIDTH - filled)
                line = f"\r[{bar}] {self.done}/{self.total} {student}: {outcome}"
                self.stream.write(line[:120].ljust(120))
            else:
                self.stream.write(f"[{self.done}/{self.total}] {student}: {outcome}\n")
            self.stream.flush()

    def finish(self):
        """End the bar's line on a terminal."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
