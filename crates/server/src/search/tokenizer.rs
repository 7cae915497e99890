//! A tantivy tokenizer backed by jieba word segmentation. Documents are cut in
//! search mode (every dictionary word and its sub-words, so 小店区 is found by
//! 小店区 and by 小店); queries are cut in default mode, then each word must match.

use jieba_rs::Jieba;
use std::sync::OnceLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

pub const JIEBA: &str = "jieba";

pub fn jieba() -> &'static Jieba {
    static JIEBA_INSTANCE: OnceLock<Jieba> = OnceLock::new();
    JIEBA_INSTANCE.get_or_init(Jieba::new)
}

#[derive(Clone)]
pub struct JiebaTokenizer {
    jieba: &'static Jieba,
}

impl Default for JiebaTokenizer {
    fn default() -> Self {
        JiebaTokenizer { jieba: jieba() }
    }
}

fn is_word(w: &str) -> bool {
    w.chars().any(|c| c.is_alphanumeric())
}

/// Normalises a word: ASCII lower case, so `KTV` finds `ktv`.
fn normalise(w: &str) -> String {
    w.to_lowercase()
}

/// Words of a query, each of which must match.
pub fn query_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = jieba()
        .cut(text, true)
        .into_iter()
        .filter(|w| is_word(w))
        .map(normalise)
        .collect();
    words.dedup();
    words
}

pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut offset = 0;
        for (position, word) in self
            .jieba
            .cut_for_search(text, true)
            .into_iter()
            .enumerate()
        {
            let start = text[offset..]
                .find(word)
                .map(|i| i + offset)
                .unwrap_or(offset);
            if is_word(word) {
                tokens.push(Token {
                    offset_from: start,
                    offset_to: start + word.len(),
                    position,
                    text: normalise(word),
                    position_length: 1,
                });
            }
            offset = start;
        }
        VecTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut tokenizer = JiebaTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn indexes_words_and_sub_words() {
        let t = tokens("太原市小店区家政服务点");
        assert!(t.contains(&"家政".to_string()), "{t:?}");
        assert!(t.iter().any(|w| w.contains("小店")), "{t:?}");
    }

    #[test]
    fn every_query_word_is_indexed_in_the_same_text() {
        let text = "山西省太原市小店区坞城街道家政服务点 KTV";
        let indexed = tokens(text);
        for word in query_words("小店区 家政 ktv") {
            assert!(indexed.contains(&word), "{word} not in {indexed:?}");
        }
    }
}
