"""Part V of the book: the loss landscape."""
