//go:build !race

package caller

const raceOn = false
