"""Input and output: run-directory files, evaluation on grids, plots, loggers, progress."""
