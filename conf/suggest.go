package conf

import (
	"fmt"
	"strings"
)

// nearestKey returns the known key closest to name by edit distance,
// ignoring case. Ties go to a key of the file being read (want), then to the
// earlier key in keyTable. Aliases are not suggested.
func nearestKey(name string, want fileKind) *keyInfo {
	lname := strings.ToLower(name)
	var best *keyInfo
	bestD := 0
	for i := range keyTable {
		k := &keyTable[i]
		if k.alias != "" {
			continue
		}
		d := editDistance(lname, strings.ToLower(k.name))
		if best == nil || d < bestD || (d == bestD && k.file == want && best.file != want) {
			best, bestD = k, d
		}
	}
	return best
}

// unknownKeyMsg is the message for a key no version of ossimport or ferry
// knows, read from a file of kind in.
func unknownKeyMsg(name string, in fileKind) string {
	k := nearestKey(name, in)
	if k.file != in {
		return fmt.Sprintf("unknown key (did you mean %s? it belongs in %s)", k.name, k.file)
	}
	return fmt.Sprintf("unknown key (did you mean %s?)", k.name)
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
