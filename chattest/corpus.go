package chattest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Corpus makes reproducible chat text for search benchmarks: about half Korean (nouns with
// particles, as written: "서울에서", "회의는"), half English, word frequencies skewed as in
// real chat (Zipf), and one rare token in ten messages so that selective queries exist.
type Corpus struct {
	r    *rand.Rand
	zipf *rand.Zipf
}

// NewCorpus returns a corpus whose texts depend only on seed.
func NewCorpus(seed uint64) *Corpus {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &Corpus{r: r, zipf: rand.NewZipf(r, 1.1, 1, uint64(len(corpusKorean)+len(corpusEnglish)-1))}
}

var corpusKorean = strings.Fields(`서울 부산 회의 점심 저녁 내일 오늘 프로젝트 일정 사진 친구 커피
	영화 주말 여행 회사 학교 버스 지하철 날씨 생일 선물 가족 음식 식당 예약 공항 비행기 호텔 기차
	시간 장소 문서 자료 발표 보고서 고객 계약 결제 배송 주문 문제 해결 질문 답변 공지 휴가 출장`)

var corpusParticles = []string{"", "", "에서", "에", "은", "는", "이", "가", "을", "를", "도", "으로", "와", "까지", "부터"}

var corpusVerbs = strings.Fields(`만나요 갈까요 했어요 좋아요 봐요 먹자 어때요 확인했습니다 보내주세요 부탁해요 감사합니다 알겠어요`)

var corpusEnglish = strings.Fields(`meeting lunch dinner tomorrow today project schedule photo friend
	coffee movie weekend travel office school bus subway weather birthday gift family food
	restaurant booking airport flight hotel train time place document report customer contract
	payment delivery order problem question answer notice holiday trip deadline review release
	build deploy server client database search message update please thanks sure okay great`)

// Text returns the next message's text.
func (c *Corpus) Text() string {
	korean := c.r.IntN(2) == 0
	n := 3 + c.r.IntN(10)
	words := make([]string, 0, n+2)
	for range n {
		i := int(c.zipf.Uint64())
		switch {
		case korean && i < len(corpusKorean):
			words = append(words, corpusKorean[i]+corpusParticles[c.r.IntN(len(corpusParticles))])
		case korean:
			words = append(words, corpusVerbs[c.r.IntN(len(corpusVerbs))])
		case i < len(corpusEnglish):
			words = append(words, corpusEnglish[i])
		default:
			words = append(words, corpusEnglish[c.r.IntN(len(corpusEnglish))])
		}
	}
	if c.r.IntN(10) == 0 {
		words = append(words, fmt.Sprintf("ticket%05d", c.r.IntN(100000)))
	}
	return strings.Join(words, " ")
}

// CorpusQueries are the benchmark's queries: two-character Korean stems, English prefixes,
// two words, and a rare token.
var CorpusQueries = []string{"서울", "회의", "점심 먹", "여행", "보고서", "meet", "proj", "coffee tomorrow", "deplo", "ticket00042", "공항 flight"}

// BenchSearch runs CorpusQueries in turn against ms over rooms, a page of 20 each op, and
// reports the latency's p50, p95 and p99 and the messages found per query.
func BenchSearch(b *testing.B, ms chat.MessageSearch, rooms []string) {
	ctx := context.Background()
	var lat []time.Duration
	found, i := 0, 0
	b.ResetTimer()
	for b.Loop() {
		q := CorpusQueries[i%len(CorpusQueries)]
		i++
		start := time.Now()
		msgs, _, err := ms.SearchMessages(ctx, chat.SearchQuery{Words: chat.SearchWords(q), RoomIDs: rooms, Limit: 20})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		found += len(msgs)
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(found)/float64(len(lat)), "found/op")
}
