"""Simplicity bias of the parameter-function map: random networks on Boolean inputs.

Draw the weights of a network at random and look at the function it computes, not at the
weights. Valle-Perez, Camargo and Louis (2019) do this for networks on the ``2^7 = 128``
inputs of ``{0,1}^7``, each function a 128-bit truth table, and find that the probability
``P(f)`` of a function spans many orders of magnitude and falls roughly exponentially with
its complexity, a bound that Dingle, Camargo and Louis (2018) derive for input-output maps
in general: ``P(f) <~ 2^(-a K(f) - b)``. The complexity ``K`` is not computable; it is
estimated by the Lempel-Ziv (1976) complexity of the truth table.

Complexity
    :func:`lz_complexity`, the number of words in the Lempel-Ziv (1976) exhaustive history
    of a sequence, counted by the algorithm of Kaspar and Schuster (1987);
    :func:`lz_complexity_symmetric`, the estimator ``C_LZ`` of Dingle et al. (2018) that
    Valle-Perez et al. use: ``log2(n)`` times the mean of the counts of the string and of its
    reverse, and ``log2(n)`` for the constant strings; :func:`lz_complexities`, the same for
    many truth tables given as words.
Random networks
    :func:`boolean_inputs` (the ``2^n`` inputs, in a fixed order), :func:`sample_networks`
    (a batch of random fully connected networks with their truth tables) and
    :func:`sample_functions` (only the truth tables, for ``10^5``-``10^6`` networks, in
    batches); :func:`count_functions` (how often each function was drawn).
Identifiers
    :func:`words_to_bits`, :func:`bits_to_words`, :func:`identifier`, :func:`identifier_bits`,
    :func:`identifier_string`, :func:`count_ones`.

Conventions (the same for every function)::

    inputs       x_k, k = 0 .. 2^n - 1, is the binary expansion of k, most significant bit
                 first: for n = 7, x_0 = 0000000, x_1 = 0000001, x_5 = 0000101, x_127 = 1111111
                 (the order of itertools.product([0, 1], repeat=n))
    network      h_0 = x;  h_l = phi(W_l h_{l-1} + b_l);  output W_L h_{L-1} + b_L (one unit);
                 W_l[i, j] ~ N(0, sigma_w^2 / fan_in_l),  b_l[i] ~ N(0, sigma_b^2), independent
    function     f(x) = 1 if the output is > 0, else 0 (an output of exactly 0 gives 0)
    truth table  the bit string f(x_0) f(x_1) ... f(x_{2^n - 1}), of length 2^n
    identifier   the truth table read as a binary number, f(x_0) the most significant bit:
                 the Python int int(truth_table, 2), exact for any n
    words        the same number as W = ceil(2^n / 64) uint64 words, most significant first
                 (for n = 7: words[0] holds f(x_0) .. f(x_63), words[1] f(x_64) .. f(x_127));
                 identifier = sum_j words[j] << 64 (W - 1 - j)

What is exact: the word counts, the complexity estimates and the identifiers. What is
random: only the draws, from an explicit seed. Networks are evaluated in float32 by default
(``dtype="float64"`` for an output whose sign must not depend on rounding); an output within
rounding of 0 may then threshold differently in the two precisions.

References
----------
Lempel, Ziv (1976), *On the complexity of finite sequences*, IEEE Trans. Inf. Theory 22(1),
75-81 (the exhaustive history and its number of words ``c``).
Kaspar, Schuster (1987), *Easily calculable measure for the complexity of spatiotemporal
patterns*, Phys. Rev. A 36(2), 842-848 (the algorithm that counts ``c``; their example
``0001101001000101 = 0.001.10.100.1000.101``, ``c = 6``, is the one of Lempel and Ziv).
Dingle, Camargo, Louis (2018), *Input-output maps are strongly biased towards simple outputs*,
Nature Communications 9, 761 (Methods, the complexity estimator ``C_LZ``).
Valle-Perez, Camargo, Louis (2019), *Deep learning generalizes because the parameter-function
map is biased towards simple functions*, ICLR, arXiv:1805.08522 (the networks on ``{0,1}^7``
with weight variances ``sigma_w^2 / n`` and bias variances ``sigma_b^2``).
Mingard, Skalse, Valle-Perez, Martinez-Rubio, Mikulik, Louis (2019), *Neural networks are a
priori biased towards Boolean functions with low entropy*, arXiv:1909.11522 (the perceptron
without bias: the number ``T`` of inputs mapped to 1 is uniform on ``0 .. 2^n - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks

ACTIVATIONS = ("relu", "tanh")
"""The hidden activations of :func:`sample_networks` and :func:`sample_functions`."""

_MAX_INPUTS = 12


def _fail(name, wanted, got):
    raise ValueError(f"{name} must be {wanted}; got {got}.")


# ----------------------------------------------------------------------------- complexity


def _unbool(values):
    """Booleans as 0/1 integers (checks.array accepts numbers only)."""
    if isinstance(values, str):
        return values
    array = np.asarray(values)
    return array.astype(np.uint8) if array.dtype == np.bool_ else values


def _sequence(name, bits):
    """A sequence of symbols: a non-empty str, or a 1-D array of integers as a tuple."""
    if isinstance(bits, bytes):
        bits = bits.decode("ascii")
    if isinstance(bits, str):
        if not bits:
            _fail(name, "a non-empty string or 1-D array of symbols", "an empty string")
        return bits
    array = checks.array(name, _unbool(bits), ndim=1, dtype=None)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(array == np.round(array)):
            _fail(name, "a string or a 1-D array of integer symbols", f"dtype {array.dtype}")
    return tuple(array.astype(np.int64).tolist())


def _kaspar_schuster(s):
    """The number of words of the exhaustive history of ``s`` (Kaspar and Schuster 1987).

    ``l`` is the length of the part already parsed (the current word starts at index ``l``),
    ``i`` the start of a candidate earlier copy, ``k`` the length matched from it, ``k_max``
    the longest match over the candidates tried for this word.
    """
    n = len(s)
    if n == 1:
        return 1
    c, l, i, k, k_max = 1, 1, 0, 1, 1
    while True:
        if s[i + k - 1] == s[l + k - 1]:
            k += 1
            if l + k > n:  # the copy reaches the end: the last word, possibly not new
                c += 1
                return c
        else:
            k_max = max(k, k_max)
            i += 1
            if i == l:  # every earlier start tried: the word is the longest copy + 1 symbol
                c += 1
                l += k_max
                if l + 1 > n:
                    return c
                i, k, k_max = 0, 1, 1
            else:
                k = 1


def lz_complexity(bits):
    """The Lempel-Ziv (1976) complexity: the number of words of the exhaustive history.

    The sequence is cut, from left to right, into words; each word is the longest prefix of
    the rest that can be copied from earlier (the copy may start anywhere before the word and
    overlap it), plus one new symbol; the last word may end early, as a pure copy. ``c`` is
    the number of words (Lempel and Ziv 1976), counted with the algorithm of
    Kaspar and Schuster (1987), which needs no dictionary. Example:
    ``0001101001000101 = 0.001.10.100.1000.101``, ``c = 6``. For random binary strings of
    length ``n``, ``c`` grows like ``n / log2(n)``.

    Parameters
    ----------
    bits : str or array_like of shape (n,)
        Any symbols: a string (each character a symbol) or integers (0/1 for a truth table).

    Returns
    -------
    int
    """
    return _kaspar_schuster(_sequence("bits", bits))


def lz_complexity_symmetric(bits):
    """The complexity estimate ``C_LZ`` of Dingle, Camargo and Louis (2018).

    ``C_LZ(x) = log2(n)`` if ``x`` is constant (all 0s or all 1s), and otherwise
    ``log2(n) * (c(x_1 .. x_n) + c(x_n .. x_1)) / 2``, with ``c`` the word count of
    :func:`lz_complexity` (Dingle et al. 2018, Methods; used by Valle-Perez et al. 2019). The
    mean over the string and its reverse removes the direction of reading; the constant
    strings are set apart because ``c`` gives them 2 (1 for ``n = 1``) while their description
    needs only ``n``, about ``log2(n)`` bits. The factor ``log2(n)`` puts ``c`` in bits.

    Parameters
    ----------
    bits : str or array_like of shape (n,)

    Returns
    -------
    float
    """
    s = _sequence("bits", bits)
    n = len(s)
    if len(set(s)) == 1:
        return float(np.log2(n))
    return float(np.log2(n) * (_kaspar_schuster(s) + _kaspar_schuster(s[::-1])) / 2)


def lz_complexities(words, n_inputs=7):
    """:func:`lz_complexity_symmetric` of the truth table of every row of ``words``.

    Parameters
    ----------
    words : ndarray of uint64, shape (m, W)
        E.g. ``FunctionCounts.words``: compute it once per distinct function.
    n_inputs : int

    Returns
    -------
    ndarray of shape (m,), float64
    """
    bits = np.atleast_2d(words_to_bits(words, n_inputs))
    return np.array([lz_complexity_symmetric(row.tobytes()) for row in bits + ord("0")])


# ---------------------------------------------------------------------------------- inputs


def _n_inputs(n_inputs):
    return checks.count("n_inputs", n_inputs, maximum=_MAX_INPUTS)


def boolean_inputs(n_inputs=7):
    """All ``2^n`` points of ``{0,1}^n``, row ``k`` the binary expansion of ``k``.

    Most significant bit first (see the module's conventions), as float64.

    Returns
    -------
    ndarray of shape (2**n_inputs, n_inputs)
    """
    n = _n_inputs(n_inputs)
    k = np.arange(2**n)[:, None]
    return ((k >> np.arange(n - 1, -1, -1)[None, :]) & 1).astype(float)


def _n_words(n_inputs):
    return max(1, -(-(2**n_inputs) // 64))


def bits_to_words(bits):
    """Pack truth tables into uint64 words (most significant first, f(x_0) the top bit).

    Parameters
    ----------
    bits : array_like of shape (2**n,) or (m, 2**n), entries 0/1

    Returns
    -------
    ndarray of uint64, shape (W,) or (m, W), W = ceil(2**n / 64)
    """
    array = checks.array("bits", _unbool(bits), ndim=(1, 2), dtype=None)
    length = array.shape[-1]
    n = int(np.log2(length)) if length > 0 else -1
    if 2**n != length or n > _MAX_INPUTS:
        _fail("bits", f"truth tables of length 2^n, n <= {_MAX_INPUTS}", f"length {length}")
    if not np.all((array == 0) | (array == 1)):
        _fail("bits", "0/1 entries", "other values")
    table = np.atleast_2d(array).astype(np.uint8)
    width = 64 * _n_words(n)
    padded = np.zeros((table.shape[0], width), dtype=np.uint8)
    padded[:, width - length :] = table  # zeros in front: the value is int(table, 2)
    words = np.packbits(padded, axis=1, bitorder="big").view(">u8").astype(np.uint64)
    return words[0] if array.ndim == 1 else words


def words_to_bits(words, n_inputs=7):
    """Unpack uint64 words into truth tables of ``2^n`` bits (the inverse of
    :func:`bits_to_words`).

    Parameters
    ----------
    words : array_like of uint64, shape (W,) or (m, W)
    n_inputs : int

    Returns
    -------
    ndarray of uint8, shape (2**n,) or (m, 2**n)
    """
    n = _n_inputs(n_inputs)
    array = np.asarray(words)
    if array.dtype != np.uint64 or array.ndim not in (1, 2):
        _fail("words", "a 1-D or 2-D array of uint64", f"{array.dtype} of shape {array.shape}")
    if array.shape[-1] != _n_words(n):
        _fail("words", f"{_n_words(n)} words per function for n_inputs = {n}", array.shape[-1])
    table = np.atleast_2d(array).astype(">u8").view(np.uint8)
    bits = np.unpackbits(table, axis=1, bitorder="big")[:, -(2**n) :]
    return bits[0] if array.ndim == 1 else bits


def identifier(words):
    """The exact identifier (a Python int) of one function given as its words (shape (W,))."""
    array = np.asarray(words)
    if array.dtype != np.uint64 or array.ndim != 1 or array.size == 0:
        _fail("words", "a non-empty 1-D array of uint64", f"{array.dtype} of shape {array.shape}")
    value = 0
    for word in array.tolist():
        value = (value << 64) | int(word)
    return value


def identifier_bits(ident, n_inputs=7):
    """The truth table of the identifier ``ident``, shape ``(2**n,)``, uint8."""
    return np.frombuffer(identifier_string(ident, n_inputs).encode(), dtype=np.uint8) - ord("0")


def identifier_string(ident, n_inputs=7):
    """The truth table of ``ident`` as a string of ``2^n`` characters '0'/'1'."""
    n = _n_inputs(n_inputs)
    if not isinstance(ident, (int, np.integer)) or isinstance(ident, bool):
        _fail("ident", "a non-negative integer", repr(ident))
    ident = int(ident)
    if ident < 0 or ident >= 2 ** (2**n):
        _fail("ident", f"an integer from 0 to 2^{2**n} - 1", repr(ident))
    return format(ident, f"0{2**n}b")


def count_ones(words):
    """The number of inputs each function maps to 1, shape ``(m,)`` for words ``(m, W)``."""
    array = np.asarray(words)
    if array.dtype != np.uint64 or array.ndim not in (1, 2):
        _fail("words", "a 1-D or 2-D array of uint64", f"{array.dtype} of shape {array.shape}")
    return np.bitwise_count(np.atleast_2d(array)).sum(axis=1).astype(np.int64)


# --------------------------------------------------------------------------------- networks


@dataclass
class RandomNetworks:
    """A batch of ``m`` random fully connected networks and the functions they compute.

    ``weights[l]`` has shape ``(m, fan_out, fan_in)`` and ``biases[l]`` shape
    ``(m, fan_out)`` (zeros when ``sigma_b = 0``); the last layer has ``fan_out = 1``.
    ``outputs`` has shape ``(m, 2**n)`` (the real outputs on the inputs of
    :func:`boolean_inputs`), ``words`` shape ``(m, W)`` (the thresholded truth tables).
    """

    weights: list
    biases: list
    activation: str
    outputs: np.ndarray
    words: np.ndarray


def _check_network(hidden, activation, sigma_w, sigma_b, n_inputs, dtype):
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    hidden = () if len(tuple(hidden)) == 0 else checks.integers("hidden", hidden, minimum=1)
    activation = checks.choice("activation", activation, ACTIVATIONS)
    sigma_w = checks.positive("sigma_w", sigma_w)
    sigma_b = checks.nonnegative("sigma_b", sigma_b)
    n = _n_inputs(n_inputs)
    dtype = checks.choice("dtype", dtype, ("float32", "float64"))
    return hidden, activation, sigma_w, sigma_b, n, dtype


def _draw(m, hidden, activation, sigma_w, sigma_b, n, dtype, generator):
    """Weights, biases and outputs of ``m`` networks, in torch, on the generator's device."""
    import torch

    torch_dtype = getattr(torch, dtype)
    device = generator.device
    X = torch.as_tensor(boolean_inputs(n), dtype=torch_dtype, device=device)
    widths = (n, *hidden, 1)
    h = X.expand(m, *X.shape)  # (m, 2^n, fan_in)
    weights, biases = [], []
    for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        # W[i, j] ~ N(0, sigma_w^2 / fan_in), b[i] ~ N(0, sigma_b^2)
        W = torch.randn(m, fan_out, fan_in, generator=generator, dtype=torch_dtype, device=device)
        W *= sigma_w / fan_in**0.5
        if sigma_b > 0:
            b = torch.randn(m, fan_out, generator=generator, dtype=torch_dtype, device=device)
            b *= sigma_b
        else:
            b = torch.zeros(m, fan_out, dtype=torch_dtype, device=device)
        h = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))
        if layer < len(widths) - 2:
            h = torch.relu(h) if activation == "relu" else torch.tanh(h)
        weights.append(W)
        biases.append(b)
    return weights, biases, h[..., 0]


def _pack(outputs):
    """Truth tables (f = 1 where the output is > 0) of outputs (m, 2^n), as words."""
    return bits_to_words((outputs > 0).cpu().numpy().astype(np.uint8))


def sample_networks(
    n_networks,
    hidden=(40, 40),
    activation="relu",
    sigma_w=1.0,
    sigma_b=1.0,
    n_inputs=7,
    *,
    seed,
    dtype="float32",
):
    """Draw ``n_networks`` random networks on ``{0,1}^n``, with their weights and functions.

    Every network is drawn independently as in the module's conventions (Valle-Perez et al.
    2019: i.i.d. Gaussian weights of variance ``sigma_w^2 / fan_in``, biases of variance
    ``sigma_b^2``); ``hidden=()`` is a perceptron ``f(x) = [w . x + b > 0]``. Keeps every
    weight: for a few networks to look at; use :func:`sample_functions` for many.

    Parameters
    ----------
    n_networks : int
    hidden : sequence of int, default (40, 40)
        Widths of the hidden layers; ``()`` for none.
    activation : {"relu", "tanh"}
    sigma_w : float > 0
    sigma_b : float >= 0
        0 for networks without biases.
    n_inputs : int, default 7
    seed : int
        Seeds a ``torch.Generator``; the draws are the same for the same arguments.
    dtype : {"float32", "float64"}

    Returns
    -------
    RandomNetworks
    """
    import torch

    m = checks.count("n_networks", n_networks)
    hidden, activation, sigma_w, sigma_b, n, dtype = _check_network(
        hidden, activation, sigma_w, sigma_b, n_inputs, dtype
    )
    seed = checks.count("seed", seed, minimum=0)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        weights, biases, outputs = _draw(
            m, hidden, activation, sigma_w, sigma_b, n, dtype, generator
        )
    return RandomNetworks(
        [W.numpy() for W in weights],
        [b.numpy() for b in biases],
        activation,
        outputs.numpy(),
        _pack(outputs),
    )


def sample_functions(
    n_samples,
    hidden=(40, 40),
    activation="relu",
    sigma_w=1.0,
    sigma_b=1.0,
    n_inputs=7,
    *,
    seed,
    batch_size=8192,
    dtype="float32",
    device="cpu",
):
    """The functions (truth tables, as words) of ``n_samples`` random networks.

    The networks of :func:`sample_networks`, drawn ``batch_size`` at a time with one
    ``torch.Generator`` seeded by ``seed`` (so the result depends on ``batch_size`` too);
    only the words are kept, 16 bytes per network for ``n = 7``. Memory per batch grows as
    ``batch_size * 2^n * max(hidden)`` numbers. ``device="cuda"`` runs the batches on a GPU
    (with a CUDA generator: other draws than on the CPU for the same seed).

    Returns
    -------
    ndarray of uint64, shape (n_samples, W)
        Row ``s`` is the function of network ``s`` (module conventions).
    """
    import torch

    total = checks.count("n_samples", n_samples)
    hidden, activation, sigma_w, sigma_b, n, dtype = _check_network(
        hidden, activation, sigma_w, sigma_b, n_inputs, dtype
    )
    seed = checks.count("seed", seed, minimum=0)
    batch_size = checks.count("batch_size", batch_size)
    device = checks.choice("device", device, ("cpu", "cuda"))
    if device == "cuda" and not torch.cuda.is_available():
        _fail("device", "'cpu' where torch sees no GPU", repr(device))
    generator = torch.Generator(device=device).manual_seed(seed)
    words = np.empty((total, _n_words(n)), dtype=np.uint64)
    with torch.no_grad():
        for start in range(0, total, batch_size):
            m = min(batch_size, total - start)
            _, _, outputs = _draw(m, hidden, activation, sigma_w, sigma_b, n, dtype, generator)
            words[start : start + m] = _pack(outputs)
    return words


@dataclass
class FunctionCounts:
    """How often each distinct function was drawn, most frequent first (ties: by words).

    ``words`` has shape ``(k, W)`` (one row per distinct function), ``counts`` shape ``(k,)``;
    ``total`` is the number of draws.
    """

    words: np.ndarray
    counts: np.ndarray
    n_inputs: int

    @property
    def total(self):
        """The number of draws counted."""
        return int(self.counts.sum())

    @property
    def frequencies(self):
        """``counts / total``: the empirical probability of each function, shape ``(k,)``."""
        return self.counts / self.total

    def identifiers(self):
        """The identifiers (Python ints) of the distinct functions, in order."""
        return [identifier(row) for row in self.words]

    def as_dict(self):
        """``{identifier: count}``."""
        return dict(zip(self.identifiers(), self.counts.tolist()))

    def bits(self):
        """The truth tables of the distinct functions, shape ``(k, 2**n)``, uint8."""
        return words_to_bits(self.words, self.n_inputs)


def count_functions(words, n_inputs=7):
    """Count the distinct functions among sampled words (from :func:`sample_functions`).

    Parameters
    ----------
    words : ndarray of uint64, shape (m, W)
    n_inputs : int

    Returns
    -------
    FunctionCounts
    """
    n = _n_inputs(n_inputs)
    array = np.asarray(words)
    if array.dtype != np.uint64 or array.ndim != 2 or array.shape[1] != _n_words(n):
        _fail(
            "words",
            f"a 2-D uint64 array of {_n_words(n)} words per function",
            f"{array.dtype} of shape {array.shape}",
        )
    if array.shape[0] == 0:
        _fail("words", "at least one function", "none")
    distinct, counts = np.unique(array, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return FunctionCounts(distinct[order], counts[order].astype(np.int64), n)
