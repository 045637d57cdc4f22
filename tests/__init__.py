"""Tests for the exam score bot."""
