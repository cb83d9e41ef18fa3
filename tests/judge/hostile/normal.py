# A normal program with a known answer (the test computes it too): run beside hostile ones, it
# must get OK and exactly this output.
SEED = @SEED@
acc = 0
for i in range(1, 200001):
    acc = (acc * 31 + i * SEED) % 1000000007
print("SUM", SEED, acc)
