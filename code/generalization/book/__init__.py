"""What the book's pages and build need, and nothing else imports.

* :mod:`~generalization.book.cache`: each experiment runs once; its results, and the pages
  that show them, are invalidated exactly when the code they depend on changes;
* :mod:`~generalization.book.ledger`: the reproduction ledger, the paper's number next to ours;
* :mod:`~generalization.book.pages`: putting executed values into the prose;
* :mod:`~generalization.book.plotting`: one house style for every figure.

Methods never import these modules. Chapter modules import only the cache.
"""
