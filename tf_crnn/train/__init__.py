"""The training stage: the trainer and its steps, callbacks, evaluation during training, warm starts,
distribution over devices and machines, and the sacred experiment of ``training.py``."""
