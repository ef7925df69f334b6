/**
 * The few-shot math, plain Java with no Kafka, no native code and no JSON: feature transform
 * (centring, L2 normalisation), prototypes and their running sums, the cosine-softmax classifier,
 * and inductive or transductive fine-tuning with a hand-derived gradient and Adam.
 *
 * <p>Entry points: {@link io.fewshotstreams.fewshot.Methods} to fit a classifier to a {@link
 * io.fewshotstreams.fewshot.SupportSet}, {@link io.fewshotstreams.fewshot.ClassSum} (one class's
 * running sum, as the learner keeps it) and {@link io.fewshotstreams.fewshot.PrototypeSet} (a set
 * of them, in memory) for incremental updates, {@link io.fewshotstreams.fewshot.FineTuner} for
 * direct control.
 */
package io.fewshotstreams.fewshot;
