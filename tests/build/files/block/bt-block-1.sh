#!/bin/sh
echo block glob one
