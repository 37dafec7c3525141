"""Policy reasoning, checkpoints and grading for the deploy-bot lab."""
