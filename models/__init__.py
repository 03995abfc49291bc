"""Models trained by this project, shipped as package data (see README.md here)."""
