# Summarise one benchmark cell.
# Input: one line per run: "<wall seconds> <cpu seconds> <max rss KiB> <output bytes> [<other cpu s>]"
# (other cpu: CPU time the rest of the machine used during the run).
# Output: "<runs> <median wall> <min wall> <max wall> <median cpu> <peak rss MiB> <median bytes>
#          <median other cpu>".
# The peak RSS is the largest seen in any run (a peak, not a typical value).
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) {          # insertion sort: n is a handful of runs
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
    if (n % 2) return a[(n + 1) / 2]
    return (a[n / 2] + a[n / 2 + 1]) / 2
}
NF >= 4 {
    n++
    wall[n] = $1 + 0; cpu[n] = $2 + 0; size[n] = $4 + 0; other[n] = (NF >= 5) ? $5 + 0 : 0
    if ($3 + 0 > rss) rss = $3 + 0
    if (n == 1 || $1 + 0 < lo) lo = $1 + 0
    if (n == 1 || $1 + 0 > hi) hi = $1 + 0
}
END {
    if (n == 0) { print "0 nan nan nan nan nan nan nan"; exit }
    mw = median(wall, n); mc = median(cpu, n); ms = median(size, n); mo = median(other, n)
    printf "%d %.3f %.3f %.3f %.3f %.1f %.0f %.2f\n", n, mw, lo, hi, mc, rss / 1024, ms, mo
}
