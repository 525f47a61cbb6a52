#!/bin/sh
# A shell script stored as a plain file (mode 0644).
echo "run"
