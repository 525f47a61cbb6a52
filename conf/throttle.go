package conf

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"ferry/task"
)

// parseRate parses a transfer rate in bytes per second, as maxThroughput
// and throughputSchedule write it: a size as parseSize reads it (plain
// bytes, or a number with K, M, G or T, binary, optionally followed by B or
// iB: 20M = 20MB = 20MiB = 20971520), optionally followed by "/s". 0 is
// unlimited.
func parseRate(v string) (int64, error) {
	s := v
	if len(s) > 2 && strings.EqualFold(s[len(s)-2:], "/s") {
		s = s[:len(s)-2]
	}
	n, err := parseSize(s, 0, math.MaxInt64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate (want bytes per second, or a number with K, M, G or T such as 20MB; 0 = unlimited)%s",
			v, commentHint(v))
	}
	return n, nil
}

// read as maxThroughput (0 = unlimited). Blanks around items are allowed.
// Windows may not overlap, nor be empty (start = end; for a whole day
// write 00:00-24:00). An empty v gives no window. Default is left 0. The
// error's text is a message to which the caller adds file, line and key.
func ParseSchedule(v string) (task.Schedule, error) {
	var s task.Schedule
	if strings.TrimSpace(v) == "" {
		return s, nil
	}
	var owner [task.MinutesPerDay]int // 1 + index of the window covering each minute
	var items []string                // as written
	for i, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return s, fmt.Errorf("window %d of the list is empty", i+1)
		}
		w, err := parseWindow(item)
		if err != nil {
			return s, err
		}
		for m := 0; m < task.MinutesPerDay; m++ {
			if !w.Covers(m) {
				continue
			}
			if o := owner[m]; o != 0 {
				return s, fmt.Errorf("%q overlaps %q at %s", item, items[o-1], task.ClockText(m))
			}
			owner[m] = i + 1
		}
		s.Windows = append(s.Windows, w)
		items = append(items, item)
	}
	return s, nil
}

func parseWindow(item string) (task.Window, error) {
	const want = " (want HH:MM-HH:MM=RATE, e.g. 08:00-20:00=20MB)"
	span, rate, ok := strings.Cut(item, "=")
	if !ok {
		return task.Window{}, fmt.Errorf("%q has no \"=\"%s", item, want)
	}
	from, to, ok := strings.Cut(strings.TrimSpace(span), "-")
	if !ok {
		return task.Window{}, fmt.Errorf("%q has no \"-\" between two times%s", item, want)
	}
	var w task.Window
	var err error
	if w.Start, err = parseClock(strings.TrimSpace(from), false); err != nil {
		return task.Window{}, fmt.Errorf("%q: %v", item, err)
	}
	if w.End, err = parseClock(strings.TrimSpace(to), true); err != nil {
		return task.Window{}, fmt.Errorf("%q: %v", item, err)
	}
	if w.Start == w.End {
		return task.Window{}, fmt.Errorf("%q is empty: it starts where it ends (for the whole day write 00:00-24:00)", item)
	}
	if w.End == 0 {
		w.End = task.MinutesPerDay // 00:00 as an end is the midnight ending the day
	}
	if w.Rate, err = parseRate(strings.TrimSpace(rate)); err != nil {
		return task.Window{}, fmt.Errorf("%q: %v", item, err)
	}
	return w, nil
}

// parseClock parses HH:MM (H:MM too), 00:00 to 23:59, or 24:00 when end.
func parseClock(v string, end bool) (int, error) {
	h, m, ok := strings.Cut(v, ":")
	also := ""
	if end {
		also = ", or 24:00"
	}
	bad := fmt.Errorf("%q is not a time of day (want HH:MM, 00:00 to 23:59%s)", v, also)
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || strings.Trim(h+m, "0123456789") != "" {
		return 0, bad
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	switch {
	case end && hh == 24 && mm == 0:
		return task.MinutesPerDay, nil
	case hh > 23 || mm > 59:
		return 0, bad
	}
	return hh*60 + mm, nil
}
