"""Preparation of public data sets into tf-crnn CSV files, alphabets and configs."""
