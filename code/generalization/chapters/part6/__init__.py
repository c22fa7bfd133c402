"""Part VI of the book: simplicity, Bayes and Occam."""
