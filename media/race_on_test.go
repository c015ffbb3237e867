//go:build race

package media_test

// raceEnabled tells TestDecodePeakRSS that the race detector's shadow memory would be
// measured with the decoders'.
const raceEnabled = true
