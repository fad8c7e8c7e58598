package consent_test

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/consent"
)

type gppVectors struct {
	Cases []struct {
		GPP    string          `json:"gpp_string"`
		Expect map[string]bool `json:"expected_gpc_by_section_id"`
		Note   string          `json:"note"`
	} `json:"gpp_mspa_gpc_cases"`
	Errors []struct {
		GPP    string `json:"gpp_string"`
		Header string `json:"gpp_header"`
		Expect string `json:"expected_error"`
	} `json:"gpp_error_cases"`
}

func TestGPPVectors(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/gpc_vectors.json")
	require.NoError(t, err)
	var v gppVectors
	require.NoError(t, json.Unmarshal(data, &v))
	require.NotEmpty(t, v.Cases)
	for _, tc := range v.Cases {
		t.Run(tc.GPP, func(t *testing.T) {
			t.Parallel()
			g, err := consent.ParseGPP(tc.GPP)
			require.NoError(t, err, tc.Note)
			want := map[int]bool{}
			anyGPC := false
			for k, b := range tc.Expect {
				id, err := strconv.Atoi(k)
				require.NoError(t, err)
				want[id] = b
				anyGPC = anyGPC || b
			}
			assert.Equal(t, want, g.GPC, tc.Note)
			assert.Equal(t, anyGPC, g.AnyGPC(), tc.Note)
		})
	}
	for _, tc := range v.Errors {
		in := tc.GPP
		if in == "" {
			in = tc.Header + "~x" // header-only vectors: the header is read first
		}
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			_, err := consent.ParseGPP(in)
			require.ErrorIs(t, err, consent.ErrGPP)
			assert.Contains(t, err.Error(), tc.Expect, "the same diagnosis as the reference parser")
		})
	}
}

func TestGPPSectionIDs(t *testing.T) {
	t.Parallel()
	g, err := consent.ParseGPP("DBABzw~1YNN~BVVqAAEABCA.QA")
	require.NoError(t, err)
	assert.Equal(t, []int{6, 7}, g.SectionIDs, "a Fibonacci-coded range 6..7")
	g, err = consent.ParseGPP("DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 6}, g.SectionIDs, "two single IDs, the second as an offset")
	for _, bad := range []string{"", "~", "DBABLA~BVVq!", "DB", "DBA/", "DBA!LA~x"} {
		_, err := consent.ParseGPP(bad)
		assert.ErrorIs(t, err, consent.ErrGPP, "%q", bad)
	}
}

func FuzzParseGPP(f *testing.F) {
	for _, s := range []string{"DBABLA~BVVqAAEABCA.YA", "DBABzw~1YNN~BVVqAAEABCA.QA", "DBACNY~CPXx~1YNN", "DBABL", "badheader~x", "D____________~x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := consent.ParseGPP(s)
		if err != nil {
			return
		}
		for id := range g.GPC {
			assert.True(t, id >= 7 && id <= 22, "only MSPA sections carry GPC")
		}
		assert.LessOrEqual(t, len(g.SectionIDs), 64)
	})
}
