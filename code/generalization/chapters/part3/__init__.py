"""Part III of the book: implicit bias of the optimizer."""
