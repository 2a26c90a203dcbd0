"""Datasets the graders share: one module per dataset, each with an offline stand-in generator
(named in an assignment's ``[datasets.<name>] standin = "module:function"``) and the loaders graders
and template notebooks use.  The grader code is the same for the real data and the stand-in.

- :mod:`.digits14`: handwritten digits 1–4 as 64×64 PNGs (``iust-dl-1403-hw2``).
- :mod:`.fashion_mnist`: FashionMNIST in Zalando's IDX files (``iust-dl-1402-hw2``, question 5).
- :mod:`.brain_mri`: the Kaggle brain-tumour MRI folders ``yes/`` and ``no/`` (``iust-dl-1402-hw3``, question 4).
- :mod:`.cifar10`: CIFAR-10 in its binary version, nothing unpickled (``iust-dl-1402-hw3``, question 7).

Each module's docstring says where a TA puts the real data.
"""

from .digits14 import (DIGITS14_CLASSES, DIGITS14_VERSION, build_digits14, label_from_name, list_labelled,
                       load_hidden, load_images, split_public)

__all__ = ["DIGITS14_CLASSES", "DIGITS14_VERSION", "build_digits14", "label_from_name", "list_labelled",
           "load_hidden", "load_images", "split_public"]
