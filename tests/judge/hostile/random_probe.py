# Prints the first numbers of the random module's generator; two runs forked from one warm
# interpreter must not print the same (the judge reseeds every run).
import random

print("RANDOM", random.random(), random.getrandbits(64))
