"""Red-flag screening: a conservative, explainable rule engine over lay-language symptom text."""
