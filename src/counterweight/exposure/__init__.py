"""Look-through exposure: what a book of funds and stocks really holds, issuer by issuer.

* :mod:`~counterweight.exposure.models`: a fund's holdings on a date, from a rule on the
  Market (S&P 500, equal weight, Select Sector), its latest holdings file, or opaque;
* :mod:`~counterweight.exposure.matrix`: the sparse (instruments x issuers) exposure matrix H,
  built once and reused (book exposure = H^T x);
* :mod:`~counterweight.exposure.book`: prices a holdings file and looks the book through;
* :mod:`~counterweight.exposure.analysis`: issuers, top 10, Mag 7 and sectors split by source,
  fund overlap, concentration beside the S&P 500, RIC and UCITS checks.
"""

from counterweight.exposure.analysis import ExposureReport, exposure_report, fund_overlap
from counterweight.exposure.book import BookValues, LookThrough, book_values, lookthrough
from counterweight.exposure.matrix import CASH, ExposureMatrix, build_matrix
from counterweight.exposure.models import FundLook, FundResolver, model_weights, modelled_funds

__all__ = [
    "CASH",
    "BookValues",
    "ExposureMatrix",
    "ExposureReport",
    "FundLook",
    "FundResolver",
    "LookThrough",
    "book_values",
    "build_matrix",
    "exposure_report",
    "fund_overlap",
    "lookthrough",
    "model_weights",
    "modelled_funds",
]
