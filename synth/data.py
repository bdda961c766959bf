"""Data sets: real data that needs no download, plus local CIFAR-10, Parquet, CSV and images.

``load_dataset(name, seed=0)`` (``synth.data_registry``, re-exported here) returns a
``Dataset``: normalized float32 tensors for the train/val/test splits and the metadata every
later stage needs (input shape, classes, normalization).  Splits are stratified and
deterministic for a given seed.

Names: ``mnist5k``, ``digits``, ``iris``, ``wine``, ``breast_cancer`` (bundled),
``cifar10:<dir>`` (the python batch directory), ``parquet:<path>`` (file or directory),
``csv:<path>`` and ``images:<dir>`` (a user's own table or image folder).

This module is the one name callers import from; the code lives in, read in this order:

* ``synth.data_registry``: set names, prefixes and their paths, ``load_dataset``;
* ``synth.dataset``: the ``Dataset``, its metadata check and input range;
* ``synth.data_splits``: stratified splits and normalization, arrays -> ``Dataset``;
* ``synth.data_builtin``: the bundled sets and CIFAR-10;
* ``synth.data_parquet``: Parquet sets (nnsynth's own and plain tables), ``write_parquet``;
* ``synth.data_tables``: a user's table (labels, split, features) -> ``Dataset``;
* ``synth.data_csv``: reading a user's CSV file;
* ``synth.data_images``: a user's folder of images.

Importing it registers every set above (``synth/__init__`` imports it when the registry is
first read), in the order the imports below give.
"""
from __future__ import annotations

from synth.data_registry import (  # noqa: F401  (the registry is this module's API too)
    DATASET_PATHS, MAX_CLASS_NAME, check_class_names, check_dataset_input, check_dataset_name,
    check_dataset_path, column_shown, content_shown, list_datasets, load_dataset, missing_path,
    printable, register_dataset, shown, split_class_list, ts_pair, whole_set)
from synth.dataset import (FLOAT32_MAX, Dataset, check_metadata, class_subset, input_range,
                           pixel_range, spelled_as)
from synth.data_splits import (SMALL_STD, TEST_FRACTION, VAL_FRACTION, _image_dataset, _make,
                               moments, safe_std, split_column, stratified_splits,
                               too_few_to_split, train_test_split, unsplit, val_slice)
# the loaders register their sets as they are imported: this order is list_datasets()'s
from synth.data_builtin import MAX_CIFAR_BATCH_BYTES, _mnist5k_arrays
from synth.data_parquet import (MAX_DATASET_VALUES, MAX_PARQUET_ENTRIES, MAX_PARQUET_INFLATION,
                                PARQUET_COLUMNS, PARQUET_FREE_BYTES, PARQUET_KIND_META,
                                PARQUET_META_KEY, PARQUET_SHARED_META, parquet_arrays,
                                read_parquet_table, set_job, set_progress, write_parquet)
from synth.data_tables import LABEL_COLUMNS, MAX_CSV_COLUMNS, table_dataset
from synth.data_csv import (CSV_CODEPAGE_SAMPLE_BYTES, CSV_DELIMITERS, CSV_FALLBACK_ENCODING,
                            MAX_CSV_BYTES, MAX_CSV_HEADER_BYTES, CsvLayout)
from synth.data_images import (IMAGE_SUFFIXES, MAX_IMAGE_FILES, MAX_IMAGE_SIDE,
                               SIXTEEN_BIT_MODES, SPLIT_FOLDERS)

__all__ = [
    # synth.data_registry
    "DATASET_PATHS", "MAX_CLASS_NAME", "check_class_names", "check_dataset_input",
    "check_dataset_name", "check_dataset_path", "column_shown", "content_shown",
    "list_datasets", "load_dataset", "missing_path", "printable", "register_dataset", "shown",
    "split_class_list", "ts_pair", "whole_set",
    # synth.dataset
    "FLOAT32_MAX", "Dataset", "check_metadata", "class_subset", "input_range", "pixel_range",
    "spelled_as",
    # synth.data_splits
    "SMALL_STD", "TEST_FRACTION", "VAL_FRACTION", "_image_dataset", "_make", "moments",
    "safe_std", "split_column", "stratified_splits", "too_few_to_split", "train_test_split",
    "unsplit", "val_slice",
    # synth.data_builtin
    "MAX_CIFAR_BATCH_BYTES", "_mnist5k_arrays",
    # synth.data_parquet
    "MAX_DATASET_VALUES", "MAX_PARQUET_ENTRIES", "MAX_PARQUET_INFLATION", "PARQUET_COLUMNS",
    "PARQUET_FREE_BYTES", "PARQUET_KIND_META", "PARQUET_META_KEY", "PARQUET_SHARED_META",
    "parquet_arrays", "read_parquet_table", "set_job", "set_progress", "write_parquet",
    # synth.data_tables
    "LABEL_COLUMNS", "MAX_CSV_COLUMNS", "table_dataset",
    # synth.data_csv
    "CSV_CODEPAGE_SAMPLE_BYTES", "CSV_DELIMITERS", "CSV_FALLBACK_ENCODING", "MAX_CSV_BYTES",
    "MAX_CSV_HEADER_BYTES", "CsvLayout",
    # synth.data_images
    "IMAGE_SUFFIXES", "MAX_IMAGE_FILES", "MAX_IMAGE_SIDE", "SIXTEEN_BIT_MODES", "SPLIT_FOLDERS",
]
