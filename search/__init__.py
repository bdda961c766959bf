"""Predictor-guided architecture search (STEERAGE, Chameleon) on Ray Tune."""
