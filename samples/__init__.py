"""Synthetic Vietnamese civil-status documents with known ground truth.

`samples.generate` renders pages (`python -m samples.generate --help`),
`samples.degrade` holds the image degradations, `samples.vnwords` the
numbers/dates in words (`date_in_words`).
"""
