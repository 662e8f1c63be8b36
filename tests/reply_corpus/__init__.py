"""The reply corpus of issue 11: replies in 21 languages from 21 client layouts (cases.py)."""
