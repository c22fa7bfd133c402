"""The experiments of the book's chapters, one module per chapter.

``chapters/partN/<chapter>.py`` holds the experiments of the page ``book/partN/<chapter>.md``:
its settings per scale, the functions its page and its claims tests
(``tests/claims/partN/test_<chapter>.py``) call, and the small result objects they return.
A chapter module imports methods (the flat modules of :mod:`generalization`) and the result
cache, never another chapter: what two chapters share is a method.
"""
