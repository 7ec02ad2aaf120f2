#!/bin/sh
echo block glob two
