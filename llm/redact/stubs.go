package redact

func findPhones(text string, dst []Finding) []Finding  { return dst }
func findIPs(text string, dst []Finding) []Finding     { return dst }
func findSecrets(text string, dst []Finding) []Finding { return dst }
