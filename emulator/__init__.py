"""Local AnyInt gateway emulator."""
