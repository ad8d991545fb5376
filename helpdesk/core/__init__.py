"""The shared layer every app builds on. It imports no app."""
