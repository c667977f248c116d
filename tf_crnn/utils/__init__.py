"""Small helpers shared by the commands and the library (progress bars, output modes)."""
